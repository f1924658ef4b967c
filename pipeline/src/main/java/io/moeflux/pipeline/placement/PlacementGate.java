package io.moeflux.pipeline.placement;

import io.moeflux.transport.Collectives;
import io.moeflux.transport.RankMesh;
import io.moeflux.transport.protocol.FrameKind;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;

/**
 * The agreement at a switch step: every rank contributes whether it is ready and which plan
 * version, over the CONTROL lane; the new placement is applied only when every rank is ready with
 * the same version, so all ranks switch at the same step or none does (DESIGN.md invariant 6).
 */
public final class PlacementGate {
  private final RankMesh mesh;
  private final long[] mine = new long[2];
  private final long[] gathered;

  public PlacementGate(RankMesh mesh) {
    this.mesh = Objects.requireNonNull(mesh, "mesh");
    this.gathered = new long[2 * mesh.worldSize()];
  }

  /** What the ranks agreed at a switch step. */
  public record Decision(boolean apply, String why) {}

  public Mono<Decision> decide(long step, @Nullable PreparedPlacement prepared) {
    return Mono.defer(
        () -> {
          mine[0] = prepared == null ? 0 : 1;
          mine[1] = prepared == null ? -1 : prepared.placement().version();
          return Collectives.allGatherLongs(mesh, FrameKind.PLAN, step, 0, mine, gathered)
              .map(all -> decision(step, all));
        });
  }

  private Decision decision(long step, long[] all) {
    for (int r = 0; r < mesh.worldSize(); r++) {
      if (all[2 * r] == 0) {
        return new Decision(false, "rank " + r + " had no plan ready at step " + step);
      }
      if (all[2 * r + 1] != all[1]) {
        return new Decision(
            false,
            "ranks proposed different plans at step "
                + step
                + " (version "
                + all[1]
                + " on rank 0, "
                + all[2 * r + 1]
                + " on rank "
                + r
                + ")");
      }
    }
    return new Decision(true, "every rank ready with plan version " + all[1] + " at step " + step);
  }
}
