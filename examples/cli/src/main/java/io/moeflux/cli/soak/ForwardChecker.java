package io.moeflux.cli.soak;

import io.moeflux.pipeline.TokenBatch;
import io.moeflux.pipeline.model.ExpertBank;
import io.moeflux.pipeline.model.ModelConfig;
import io.moeflux.pipeline.model.Placement;
import io.moeflux.pipeline.model.ReferenceModel;
import io.moeflux.transport.protocol.ForwardWireCodec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * Checks {@code moe.forward} answers bitwise against the single-process reference. A rank's step
 * batch is its requests of that step in the order they were sent (the batcher packs a rank's queue
 * in order), so the answers of one (rank, step) are put together again and the reference runs that
 * batch under the placement the answers name; every row, expert id and weight must be equal.
 */
public final class ForwardChecker {
  /** One request as sent: its sequence number, rank, tokens and data. */
  public record Sent(long sequence, int rank, int tokens, float[] data) {}

  private final ModelConfig model;
  private final ExpertBank bank;
  private final ConcurrentSkipListMap<Long, Placement> placements = new ConcurrentSkipListMap<>();
  private final Map<Long, ReferenceModel> references = new ConcurrentHashMap<>();
  // (rank, step) -> the answers of that rank's step, by sequence
  private final ConcurrentSkipListMap<Long, TreeMap<Long, Answered>> open =
      new ConcurrentSkipListMap<>();
  private long checked;
  private long mismatches;
  private long highestStep = -1;

  private record Answered(Sent sent, ForwardWireCodec.LayerResponse answer) {}

  /**
   * Placements kept for answers still to check: answers are checked every second, and placements
   * change at most once per switch interval.
   */
  private static final int KEPT_PLACEMENTS = 64;

  public ForwardChecker(ModelConfig model, ExpertBank bank, Placement initial) {
    this.model = model;
    this.bank = bank;
    placements.put(initial.version(), initial);
  }

  /** A placement the group switched to; placements long out of force are forgotten. */
  public void placement(Placement placement) {
    placements.put(placement.version(), placement);
    while (placements.size() > KEPT_PLACEMENTS) {
      long oldest = placements.firstKey();
      placements.remove(oldest);
      references.remove(oldest);
    }
  }

  /** The answer to {@code sent}. */
  public synchronized void answered(Sent sent, ForwardWireCodec.LayerResponse answer) {
    if (!answer.ok()) {
      mismatches++;
      return;
    }
    long key = key(answer.rank(), answer.step());
    open.computeIfAbsent(key, k -> new TreeMap<>())
        .put(sent.sequence(), new Answered(sent, answer));
    highestStep = Math.max(highestStep, answer.step());
  }

  /**
   * Checks every (rank, step) at least {@code margin} steps older than the newest answer (no answer
   * for it can still come), or every one when {@code margin} is negative.
   */
  public void check(long margin) {
    List<TreeMap<Long, Answered>> ready = new ArrayList<>();
    synchronized (this) {
      while (!open.isEmpty()) {
        long key = open.firstKey();
        long step = key / 1024;
        if (margin >= 0 && step > highestStep - margin) {
          break;
        }
        ready.add(open.remove(key));
      }
    }
    long bad = 0;
    for (TreeMap<Long, Answered> batch : ready) {
      bad += checkBatch(batch);
    }
    synchronized (this) {
      mismatches += bad;
      checked += ready.stream().mapToLong(TreeMap::size).sum();
    }
  }

  private long checkBatch(TreeMap<Long, Answered> batch) {
    Answered first = batch.firstEntry().getValue();
    int rank = first.answer().rank();
    long step = first.answer().step();
    int hidden = model.hidden();
    int total = batch.values().stream().mapToInt(a -> a.sent().tokens()).sum();
    float[] data = new float[total * hidden];
    int at = 0;
    for (Answered a : batch.values()) {
      System.arraycopy(a.sent().data(), 0, data, at, a.sent().data().length);
      at += a.sent().data().length;
    }
    Placement placement = placements.get(first.answer().placementVersion());
    if (placement == null) {
      return batch.size();
    }
    ReferenceModel reference =
        references.computeIfAbsent(
            placement.version(), v -> new ReferenceModel(model, bank, placement));
    TokenBatch expected = reference.forward(rank, TokenBatch.of(step, total, hidden, data));
    int topK = model.topK();
    long bad = 0;
    int row = 0;
    for (Answered a : batch.values()) {
      ForwardWireCodec.LayerResponse answer = a.answer();
      int n = a.sent().tokens();
      boolean same =
          answer.tokens() == n
              && bitwise(answer.data(), expected.data(), row * hidden, n * hidden)
              && Arrays.equals(
                  answer.topkIds(),
                  Arrays.copyOfRange(expected.topkIds(), row * topK, (row + n) * topK))
              && bitwise(answer.topkWeights(), expected.topkWeights(), row * topK, n * topK);
      if (!same) {
        bad++;
      }
      row += n;
    }
    return bad;
  }

  private static boolean bitwise(float[] actual, float[] expected, int from, int length) {
    if (actual.length != length) {
      return false;
    }
    for (int i = 0; i < length; i++) {
      if (Float.floatToRawIntBits(actual[i]) != Float.floatToRawIntBits(expected[from + i])) {
        return false;
      }
    }
    return true;
  }

  private static long key(int rank, long step) {
    return step * 1024 + rank;
  }

  public synchronized long checked() {
    return checked;
  }

  public synchronized long mismatches() {
    return mismatches;
  }
}
