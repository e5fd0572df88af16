"""The Spyglass web console: TypeScript sources under ``console/src``, built to ``console/dist``."""
