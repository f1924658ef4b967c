package io.moeflux.pipeline.placement;

import io.moeflux.transport.Collectives;
import io.moeflux.transport.RankMesh;
import io.moeflux.transport.protocol.FrameKind;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;

/**
 * The agreement at a switch step: every rank contributes whether it is ready, which plan version
 * and the {@link io.moeflux.pipeline.model.Placement#digest() digest} of the plan's maps and
 * shares, over the CONTROL lane; the new placement is applied only when every rank is ready with
 * the same version and the same digest, so all ranks switch to the same placement at the same step
 * or none does (DESIGN.md invariant 6). Every rank sees every contribution, so every rank reaches
 * the same decision with the same reason.
 */
public final class PlacementGate {
  private static final int FIELDS = 3;

  private final RankMesh mesh;
  private final long[] mine = new long[FIELDS];
  private final long[] gathered;

  public PlacementGate(RankMesh mesh) {
    this.mesh = Objects.requireNonNull(mesh, "mesh");
    this.gathered = new long[FIELDS * mesh.worldSize()];
  }

  /** What the ranks agreed at a switch step. */
  public record Decision(boolean apply, String why) {}

  public Mono<Decision> decide(long step, @Nullable PreparedPlacement prepared) {
    return Mono.defer(
        () -> {
          mine[0] = prepared == null ? 0 : 1;
          mine[1] = prepared == null ? -1 : prepared.placement().version();
          mine[2] = prepared == null ? 0 : prepared.placement().digest();
          return Collectives.allGatherLongs(mesh, FrameKind.PLAN, step, 0, mine, gathered)
              .map(all -> decision(step, all));
        });
  }

  private Decision decision(long step, long[] all) {
    for (int r = 0; r < mesh.worldSize(); r++) {
      if (all[FIELDS * r] == 0) {
        return new Decision(false, "rank " + r + " had no plan ready at step " + step);
      }
    }
    for (int r = 1; r < mesh.worldSize(); r++) {
      if (all[FIELDS * r + 1] != all[1] || all[FIELDS * r + 2] != all[2]) {
        return new Decision(
            false,
            "ranks proposed different plans at step "
                + step
                + " ("
                + plan(all, 0)
                + " on rank 0, "
                + plan(all, r)
                + " on rank "
                + r
                + ")");
      }
    }
    return new Decision(true, "every rank ready with " + plan(all, 0) + " at step " + step);
  }

  private static String plan(long[] all, int rank) {
    return "version "
        + all[FIELDS * rank + 1]
        + " digest "
        + String.format("%016x", all[FIELDS * rank + 2]);
  }
}
