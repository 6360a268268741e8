"""Microsoft Teams through the Microsoft 365 Agents SDK (imported only when Teams is configured)."""
