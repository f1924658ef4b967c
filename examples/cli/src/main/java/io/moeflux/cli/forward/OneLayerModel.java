package io.moeflux.cli.forward;

import io.moeflux.pipeline.model.ExpertFfn;
import io.moeflux.pipeline.model.ExpertKind;
import io.moeflux.pipeline.model.MoeModel;
import io.moeflux.pipeline.model.SharedExpert;
import io.moeflux.pipeline.model.TokenRouter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One MoE layer of a model, as a model of that single layer: ranks that run it load the router,
 * shared expert and routed experts of that layer only, and every step runs it (step mod 1). Frames
 * and outputs still name the layer by its decoder-layer index. {@code moeflux forward} runs one
 * layer of a checkpoint this way, so that checking layer 40 of a 48-layer model does not load the
 * other 47.
 */
public final class OneLayerModel implements MoeModel {
  private final MoeModel model;
  private final int layer;

  private OneLayerModel(MoeModel model, int layer) {
    this.model = model;
    this.layer = layer;
  }

  /**
   * MoE layer {@code layer} (a position among {@code model}'s MoE layers, {@code 0 .. layers()-1})
   * of {@code model}, which must run one layer per step.
   */
  public static OneLayerModel of(MoeModel model, int layer) {
    Objects.requireNonNull(model, "model");
    Objects.checkIndex(layer, model.layers());
    if (model.runsEveryLayerPerStep()) {
      throw new IllegalArgumentException(
          model.describe() + " runs every layer in every step; one of its layers cannot run alone");
    }
    return new OneLayerModel(model, layer);
  }

  private static void requireOnly(int layer) {
    Objects.checkIndex(layer, 1);
  }

  @Override
  public String describe() {
    return "MoE layer " + model.layerId(layer) + " of " + model.describe();
  }

  @Override
  public int hidden() {
    return model.hidden();
  }

  @Override
  public int experts() {
    return model.experts();
  }

  @Override
  public int topK() {
    return model.topK();
  }

  @Override
  public int layers() {
    return 1;
  }

  @Override
  public int layerId(int layer) {
    requireOnly(layer);
    return model.layerId(this.layer);
  }

  @Override
  public boolean runsEveryLayerPerStep() {
    return false;
  }

  @Override
  public ExpertKind expertKind() {
    return model.expertKind();
  }

  @Override
  public TokenRouter router(int layer) {
    requireOnly(layer);
    return model.router(this.layer);
  }

  @Override
  public ExpertFfn expert(int layer, int logicalExpert) {
    requireOnly(layer);
    return model.expert(this.layer, logicalExpert);
  }

  @Override
  public @Nullable SharedExpert sharedExpert(int layer) {
    requireOnly(layer);
    return model.sharedExpert(this.layer);
  }

  @Override
  public long expertBytes(int layer) {
    requireOnly(layer);
    return model.expertBytes(this.layer);
  }

  @Override
  public long routerBytes(int layer) {
    requireOnly(layer);
    return model.routerBytes(this.layer);
  }

  @Override
  public long sharedExpertBytes(int layer) {
    requireOnly(layer);
    return model.sharedExpertBytes(this.layer);
  }

  @Override
  public boolean loadsMovedExperts() {
    return model.loadsMovedExperts();
  }

  /** The model's entries plus {@code layers}: the one decoder layer run. */
  @Override
  public Map<String, String> fingerprint() {
    Map<String, String> entries = new LinkedHashMap<>(model.fingerprint());
    entries.put("layers", Integer.toString(model.layerId(layer)));
    return entries;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof OneLayerModel m && model.equals(m.model) && layer == m.layer;
  }

  @Override
  public int hashCode() {
    return Objects.hash(model, layer);
  }

  @Override
  public String toString() {
    return "OneLayerModel{" + describe() + "}";
  }
}
