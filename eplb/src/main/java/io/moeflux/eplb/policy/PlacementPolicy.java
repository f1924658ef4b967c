package io.moeflux.eplb.policy;

/** Plans where every layer's experts and their replicas go. Implementations are stateless. */
public interface PlacementPolicy {
  PlacementPlan plan(PlacementProblem problem);
}
