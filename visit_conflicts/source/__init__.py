"""Snowflake side: connections (real Snowflake or the local emulation) and source queries."""
