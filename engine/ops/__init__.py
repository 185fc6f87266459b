"""Operations: orders pulled from every marketplace and routed to warehouses, account health,
FBA replenishment, inventory deviation and the KPIs `sync status` reports."""
