"""What officers do: the applications list, dossiers, results, verification, statistics, broadcasts."""
