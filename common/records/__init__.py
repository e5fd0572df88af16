"""Evaluation records: row hash chain, run manifest, Ed25519 signatures, project log,
bundles, and their verification.

Pure on purpose (standard library + ``cryptography``): the collector uses it to check a
manifest before storing it and to show a run's seal, the ``evals`` client to build and
sign manifests, and ``evals verify`` to check a bundle offline with no server, no data
dir and no Spyglass settings at all.

The record of a run
-------------------
- **Row records.** Each stored row (inputs, output, status, errors, latency, tokens, cost,
  trace/span ids, row id, dataset row, scores) is normalized by :func:`row_record` to the
  exact form the store gives back (a score's number is a float, an empty error is null,
  times are RFC 3339 with microseconds), so the client that ran the rows and a verifier
  reading them back from the server hash the same bytes.
- **Chain.** ``h[-1] = sha256("spyglass-run\\0" + run_id)`` (binds the chain to its run);
  ``h[i] = sha256("spyglass-row\\0" + h[i-1] + "\\0" + canonical(record_i))`` over the rows
  in ``row_index`` order. The last hash is the chain head; the manifest holds it and the
  row count.
- **Manifest.** Everything needed to reproduce and judge the run (dataset, suite hash,
  task/scorer identities, params, seeds, models, git, environment, times, summaries,
  verdict) plus ``log`` (``seq`` and ``prev``, the hash of the project's previous
  manifest) and ``sections`` (a digest per top-level field, so a verifier can name the
  field that was altered). ``manifest_hash = sha256(canonical(manifest))``.
- **Signature.** Ed25519 over ``canonical(manifest)``. Covers every field above, hence
  every row (through the chain head), every summary and the verdict.
- **Bundle.** One canonical JSON file: ``format``, ``manifest``, ``signature``,
  ``public_key``, ``rows`` (records), ``chain`` (the row hashes, the proof that names the
  first broken row). A bundle must be byte-identical to its canonical form, so even a
  change that JSON would parse the same (an escape, a space) is refused.

What verification does NOT prove: that the rows are what the task really returned (the
signer could have signed made-up rows), or that a history was not re-signed by someone
holding the signing key. Pin the key (``--public-key``) and the log head (``evals runs
head``) somewhere the key holder cannot rewrite to narrow the second.

The code is split by job: :mod:`common.records.chain` (row records, normalization,
hashing, the chain, manifest digests), :mod:`common.records.signing` (Ed25519 keys and
signatures) and :mod:`common.records.verify` (verification, bundles, the project log);
this package re-exports their public names.
"""

from __future__ import annotations

from common.records.chain import (
    BUNDLE_FORMAT,
    LOG_GENESIS,
    MANIFEST_FORMAT,
    REQUIRED_FIELDS,
    RecordError,
    canonical,
    chain,
    chain_genesis,
    chain_head,
    manifest_hash,
    normalize_time,
    row_link,
    row_record,
    score_record,
    score_value,
    sha256_hex,
    sorted_records,
    summary_record,
    summary_records,
    with_sections,
)
from common.records.signing import (
    check_public_key,
    key_id,
    new_private_key,
    public_key_of,
    sign,
    signature_ok,
)
from common.records.verify import (
    Verification,
    bundle,
    check_manifest,
    check_rows,
    log_head,
    verify_bundle,
    verify_log,
    verify_record,
)

__all__ = [
    "BUNDLE_FORMAT",
    "LOG_GENESIS",
    "MANIFEST_FORMAT",
    "REQUIRED_FIELDS",
    "RecordError",
    "Verification",
    "bundle",
    "canonical",
    "chain",
    "chain_genesis",
    "chain_head",
    "check_manifest",
    "check_public_key",
    "check_rows",
    "key_id",
    "log_head",
    "manifest_hash",
    "new_private_key",
    "normalize_time",
    "public_key_of",
    "row_link",
    "row_record",
    "score_record",
    "score_value",
    "sha256_hex",
    "sign",
    "signature_ok",
    "sorted_records",
    "summary_record",
    "summary_records",
    "verify_bundle",
    "verify_log",
    "verify_record",
    "with_sections",
]
