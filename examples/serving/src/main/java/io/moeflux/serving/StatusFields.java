package io.moeflux.serving;

import io.moeflux.eplb.heat.HeatSnapshot;
import io.moeflux.pipeline.MoeGroup;
import io.moeflux.pipeline.RankStatus;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The JSON-ready documents a served group answers with: its status ({@code moe.status}, HTTP {@code
 * /status}) and its heat snapshots ({@code moe.heat}). Field names are snake_case and stable:
 * clients and dashboards read them.
 */
public final class StatusFields {
  private StatusFields() {}

  /** Ranks, step, placement, sync mode, capacity, requests served, balancedness, rebalances. */
  public static Map<String, @Nullable Object> group(
      RequestBatcher batcher, BalancedGroup balanced) {
    Map<String, @Nullable Object> status = new LinkedHashMap<>();
    MoeGroup moe = batcher.group();
    HeatSnapshot heat = balanced.latestHeat();
    RankStatus rank0 = moe.rank(0).status();
    status.put("ranks", moe.size());
    status.put("step", batcher.nextStep());
    status.put("placement_version", rank0.placementVersion());
    status.put("sync", rank0.syncDecision().skip() ? "skip" : "every step");
    status.put("comm_mode", rank0.commMode().name());
    status.put("capacity", batcher.capacity());
    status.put("hidden", batcher.hidden());
    status.put("requests_served", batcher.requestsServed());
    status.put("tokens_served", batcher.tokensServed());
    // null before the first heat window: the field is there, its value is not known yet
    status.put("balancedness", heat == null ? null : heat.meanBalancedness());
    status.put("rebalances", balanced.balancer(0).switches());
    return status;
  }

  /** One aggregated heat window: its steps, tokens, balancedness per layer and every count. */
  public static Map<String, Object> heat(HeatSnapshot heat) {
    Map<String, Object> fields = new LinkedHashMap<>();
    fields.put("from_step", heat.fromStep());
    fields.put("to_step", heat.toStep());
    fields.put("total_tokens", heat.totalTokens());
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
}
