package io.moeflux.eplb.heat;

/** Which steps' heat counts. */
public enum StageFilter {
  PREFILL,
  DECODE,
  ALL;

  boolean accepts(boolean prefill) {
    return this == ALL || (this == PREFILL) == prefill;
  }
}
