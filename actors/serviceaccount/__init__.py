"""ServiceAccounts: the default account per namespace, bound tokens, their admission plugin."""
