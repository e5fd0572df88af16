"""Typed HTTP bodies (msgspec Structs), one module per route group, shared by the
collector's handlers and the clients that call them, so ``/schema`` documents every body."""
