package io.moeflux.serving;

import io.moeflux.eplb.heat.HeatSnapshot;
import io.moeflux.eplb.heat.HeatStream;
import io.moeflux.eplb.heat.LocalHeat;
import io.moeflux.pipeline.MoeGroup;
import io.moeflux.pipeline.RankStatus;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;

/**
 * The JSON-ready documents a served group answers with: its status ({@code moe.status}, HTTP {@code
 * /status}) and its heat ({@code moe.heat}). Field names are snake_case and stable: clients and
 * dashboards read them.
 */
public final class StatusFields {
  private StatusFields() {}

  /** Ranks, step, placement, sync mode, capacity, requests served, balancedness, rebalances. */
  public static Map<String, @Nullable Object> group(
      RequestBatcher batcher, BalancedGroup balanced) {
    MoeGroup moe = batcher.group();
    return common(
        batcher, moe.rank(0).status(), balanced.latestHeat(), balanced.balancer(0).switches());
  }

  /** The fields a group and a serving rank share, with the same meanings. */
  private static Map<String, @Nullable Object> common(
      RequestBatcher batcher, RankStatus rank, @Nullable HeatSnapshot heat, long rebalances) {
    Map<String, @Nullable Object> status = new LinkedHashMap<>();
    status.put("ranks", batcher.worldSize());
    status.put("step", batcher.nextStep());
    status.put("placement_version", rank.placementVersion());
    status.put("sync", rank.syncDecision().skip() ? "skip" : "every step");
    status.put("comm_mode", rank.commMode().name());
    status.put("capacity", batcher.capacity());
    status.put("hidden", batcher.hidden());
    status.put("requests_served", batcher.requestsServed());
    status.put("tokens_served", batcher.tokensServed());
    // null before the first heat window: the field is there, its value is not known yet
    status.put("balancedness", heat == null ? null : heat.meanBalancedness());
    status.put("rebalances", rebalances);
    return status;
  }

  /**
   * The status of one serving rank of a group spread over processes: the fields of {@link #group}
   * with the same meanings ({@code ranks} is the group's size, {@code step} the next step, {@code
   * requests_served} and {@code tokens_served} this rank's), plus {@code rank}, {@code world},
   * {@code state} ({@code serving}, {@code draining} or {@code failed}) and, once failed, {@code
   * failure}: the error that stopped it, which names a lost rank.
   */
  public static Map<String, @Nullable Object> rank(RequestBatcher batcher, BalancedRank balanced) {
    RankStatus rank = balanced.rank().status();
    Map<String, @Nullable Object> status =
        common(batcher, rank, balanced.heat().latest(), balanced.balancer().switches());
    Throwable failure = batcher.failure();
    status.put("rank", rank.rank());
    // the expert kernel this process runs (the handshake made every rank's the same)
    status.put("kernel", balanced.rank().config().model().fingerprint().get("kernel"));
    status.put("world", batcher.worldSize());
    status.put("state", failure != null ? "failed" : batcher.draining() ? "draining" : "serving");
    if (failure != null) {
      status.put("failure", String.valueOf(failure.getMessage()));
    }
    return status;
  }

  /**
   * What {@code moe.heat} sends a subscriber: at once, this rank's own counts for the window still
   * open ({@link #heat(LocalHeat)}, {@code "partial": true}), so a client of a quiet server sees
   * life at once; then every window aggregated over the group from then on ({@link
   * #heat(HeatSnapshot)}, {@code "partial": false}). No old snapshot is replayed.
   */
  public static Flux<Map<String, Object>> heatUpdates(HeatStream heat) {
    return Flux.mergeSequential(
        heat.currentWindow().map(StatusFields::heat), heat.nextSnapshots().map(StatusFields::heat));
  }

  /**
   * One window aggregated over the group: {@code partial} false, its steps ({@code from_step}
   * inclusive, {@code to_step} exclusive), {@code token_expert_assignments} (token-to-expert
   * assignments summed over layers, ranks and slots: a token routed to top-k experts counts k times
   * per layer), {@code total_tokens} (the same number under its old name, deprecated: it will go in
   * the next version), {@code balancedness} per layer and {@code counts[layer][rank][slot]}.
   */
  public static Map<String, Object> heat(HeatSnapshot heat) {
    Map<String, Object> fields = new LinkedHashMap<>();
    fields.put("partial", false);
    fields.put("from_step", heat.fromStep());
    fields.put("to_step", heat.toStep());
    fields.put("token_expert_assignments", heat.tokenExpertAssignments());
    fields.put("total_tokens", heat.tokenExpertAssignments());
    double[] balancedness = new double[heat.layers()];
    long[][][] counts = new long[heat.layers()][heat.ranks()][heat.localSlots()];
    for (int l = 0; l < heat.layers(); l++) {
      balancedness[l] = heat.balancedness(l);
      for (int r = 0; r < heat.ranks(); r++) {
        for (int s = 0; s < heat.localSlots(); s++) {
          counts[l][r][s] = heat.count(l, r, s);
        }
      }
    }
    fields.put("balancedness", balancedness);
    fields.put("counts", counts);
    return fields;
  }

  /**
   * One rank's own counts for the window still open: {@code partial} true, {@code rank}, the steps
   * counted so far ({@code from_step} inclusive, {@code to_step} exclusive), {@code
   * token_expert_assignments} and {@code total_tokens} as for a whole window, and {@code
   * counts[layer][0][slot]} (the rank dimension holds this rank alone). No balancedness: one rank
   * cannot tell it.
   */
  public static Map<String, Object> heat(LocalHeat heat) {
    Map<String, Object> fields = new LinkedHashMap<>();
    fields.put("partial", true);
    fields.put("rank", heat.rank());
    fields.put("from_step", heat.fromStep());
    fields.put("to_step", heat.toStep());
    fields.put("token_expert_assignments", heat.tokenExpertAssignments());
    fields.put("total_tokens", heat.tokenExpertAssignments());
    long[][][] counts = new long[heat.layers()][1][heat.localSlots()];
    for (int l = 0; l < heat.layers(); l++) {
      for (int s = 0; s < heat.localSlots(); s++) {
        counts[l][0][s] = heat.count(l, s);
      }
    }
    fields.put("counts", counts);
    return fields;
  }
}
