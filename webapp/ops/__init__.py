"""Operations tooling, apart from the business rules: the demo data and backup/restore."""
