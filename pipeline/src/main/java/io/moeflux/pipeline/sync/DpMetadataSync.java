package io.moeflux.pipeline.sync;

import io.moeflux.transport.Collectives;
import io.moeflux.transport.RankMesh;
import io.moeflux.transport.protocol.FrameKind;
import java.util.Objects;
import reactor.core.publisher.Mono;

/**
 * The per-step DP metadata all-reduce over the mesh: {@code [tokens, prefill]} from every rank on
 * the CONTROL lane (SYNC frames), so it never queues behind dispatch data. One frame to every peer,
 * one from every peer: a single round, no per-step setup. A rank runs one step at a time, so the
 * two arrays are reused.
 */
public final class DpMetadataSync {
  /** The step id the start-up agreement on the skip decision uses. */
  static final long AGREEMENT_STEP = -1;

  private final RankMesh mesh;
  private final long[] mine = new long[2];
  private final long[] gathered;

  public DpMetadataSync(RankMesh mesh) {
    this.mesh = Objects.requireNonNull(mesh, "mesh");
    this.gathered = new long[2 * mesh.worldSize()];
  }

  public Mono<DpMetadata> sync(long step, int tokens, boolean prefill) {
    return Mono.defer(
        () -> {
          mine[0] = tokens;
          mine[1] = prefill ? 1 : 0;
          return Collectives.allGatherLongs(mesh, FrameKind.SYNC, step, 0, mine, gathered)
              .map(all -> reduce(step, all));
        });
  }

  private DpMetadata reduce(long step, long[] all) {
    int ranks = mesh.worldSize();
    int[] counts = new int[ranks];
    int max = 0;
    boolean prefill = false;
    for (int r = 0; r < ranks; r++) {
      counts[r] = (int) all[2 * r];
      max = Math.max(max, counts[r]);
      prefill |= all[2 * r + 1] != 0;
    }
    return new DpMetadata(step, counts, max, prefill);
  }

  /**
   * Checks at start-up that every rank made the same skip decision: ranks in different sync modes
   * would wait for frames that never come. Fails with a message listing each rank's decision.
   */
  public static Mono<Void> agree(RankMesh mesh, SyncDecision decision) {
    long[] mine = {decision.skip() ? 1 : 0, decision.warmupSteps()};
    long[] all = new long[2 * mesh.worldSize()];
    return Collectives.allGatherLongs(mesh, FrameKind.SYNC, AGREEMENT_STEP, 0, mine, all)
        .flatMap(
            gathered -> {
              StringBuilder disagreement = new StringBuilder();
              for (int r = 0; r < mesh.worldSize(); r++) {
                if (gathered[2 * r] != mine[0] || gathered[2 * r + 1] != mine[1]) {
                  disagreement
                      .append(disagreement.length() == 0 ? "" : "; ")
                      .append("rank ")
                      .append(r)
                      .append(gathered[2 * r] != 0 ? " skips" : " runs")
                      .append(" the sync after ")
                      .append(gathered[2 * r + 1])
                      .append(" warm-up steps");
                }
              }
              if (disagreement.length() == 0) {
                return Mono.empty();
              }
              return Mono.error(
                  new IllegalStateException(
                      "rank "
                          + mesh.rank()
                          + (decision.skip() ? " skips" : " runs")
                          + " the DP metadata sync after "
                          + decision.warmupSteps()
                          + " warm-up steps ("
                          + decision.reason()
                          + ") but "
                          + disagreement
                          + ": every rank must make the same decision"));
            });
  }
}
