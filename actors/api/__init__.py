"""The api actor: the one door through which every user-facing write reaches the state bucket."""
