// The header is the whole target.
