package io.moeflux.pipeline.sync;

/**
 * The result of one step's DP metadata all-reduce: every rank's token count, their maximum and
 * whether any rank brings a prefill batch.
 */
public record DpMetadata(long step, int[] counts, int maxTokens, boolean withPrefill) {

  public int count(int rank) {
    return counts[rank];
  }

  public long totalTokens() {
    long total = 0;
    for (int c : counts) {
      total += c;
    }
    return total;
  }
}
