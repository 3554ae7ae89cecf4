"""A labelled corpus of typed collectivités and a member list built from real names."""
