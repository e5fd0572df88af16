"""Shared vocabulary at the bottom of Spyglass: every part may import it; it imports none of them."""
