package io.moeflux.pipeline.sync;

/** What a rank serves in prefill/decode disaggregation. */
public enum RankRole {
  /** Prefill only (a KV producer). */
  PREFILL,
  /** Decode only (a KV consumer): the one role that may skip the DP metadata sync. */
  DECODE,
  /** Both prefill and decode steps. */
  MIXED
}
