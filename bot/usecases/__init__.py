"""The use cases, one module per capability. Each takes the `Context` (unit of work, clock, policy
and the connected platforms) and asks the rules for every decision."""
