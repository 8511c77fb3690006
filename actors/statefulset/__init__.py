"""The StatefulSet controller: stable names, ordered pods, one claim per pod per template."""
