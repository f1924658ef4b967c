package io.moeflux.pipeline.model;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.jspecify.annotations.Nullable;

/**
 * The synthetic model of a {@link ModelConfig}: seeded routers and experts ({@link Router}, {@link
 * ExpertBank}), every layer in every step with the residual added, no shared expert. Two synthetic
 * models are equal when their configurations and kernels are: they compute the same bits. Experts
 * and routers are made on first use and shared by every rank that uses this instance.
 */
public final class SyntheticModel implements MoeModel {
  private final ModelConfig config;
  private final ExpertBank bank;
  private final AtomicReferenceArray<@Nullable Router> routers;

  private SyntheticModel(ModelConfig config, ExpertBank bank) {
    this.config = config;
    this.bank = bank;
    this.routers = new AtomicReferenceArray<>(config.layers());
  }

  /**
   * The model of {@code config}, with a bank of its own and this JVM's preferred kernel ({@link
   * io.moeflux.pipeline.kernel.ExpertKernels#preferred()}).
   */
  public static SyntheticModel of(ModelConfig config) {
    return new SyntheticModel(Objects.requireNonNull(config, "config"), new ExpertBank(config));
  }

  /** The model of {@code bank}'s configuration, sharing the bank's experts. */
  public static SyntheticModel of(ExpertBank bank) {
    return new SyntheticModel(bank.config(), bank);
  }

  public ModelConfig config() {
    return config;
  }

  public ExpertBank bank() {
    return bank;
  }

  @Override
  public String describe() {
    return "synthetic "
        + config.expertKind().name().toLowerCase(Locale.ROOT)
        + " model "
        + config.fingerprint()
        + " (hidden "
        + config.hidden()
        + ", "
        + config.layers()
        + " layers of "
        + config.experts()
        + " experts, top-"
        + config.topK()
        + ")";
  }

  @Override
  public int hidden() {
    return config.hidden();
  }

  @Override
  public int experts() {
    return config.experts();
  }

  @Override
  public int topK() {
    return config.topK();
  }

  @Override
  public int layers() {
    return config.layers();
  }

  @Override
  public int layerId(int layer) {
    return Objects.checkIndex(layer, config.layers());
  }

  @Override
  public boolean runsEveryLayerPerStep() {
    return true;
  }

  @Override
  public ExpertKind expertKind() {
    return config.expertKind();
  }

  @Override
  public Router router(int layer) {
    Objects.checkIndex(layer, config.layers());
    Router router = routers.get(layer);
    if (router != null) {
      return router;
    }
    Router created = Router.of(config, layer);
    return routers.compareAndSet(layer, null, created) ? created : routers.get(layer);
  }

  @Override
  public ExpertFfn expert(int layer, int logicalExpert) {
    return bank.expert(layer, logicalExpert);
  }

  @Override
  public @Nullable SharedExpert sharedExpert(int layer) {
    Objects.checkIndex(layer, config.layers());
    return null;
  }

  @Override
  public long expertBytes(int layer) {
    return config.expertKind() == ExpertKind.IDENTITY
        ? 0
        : 3L * config.hidden() * config.intermediate() * Float.BYTES;
  }

  @Override
  public long routerBytes(int layer) {
    return ((long) config.hidden() + 1) * config.experts() * Float.BYTES;
  }

  @Override
  public long sharedExpertBytes(int layer) {
    return 0;
  }

  @Override
  public boolean loadsMovedExperts() {
    return false;
  }

  /** {@code model} (the configuration's hash) and, for SwiGLU experts, {@code kernel}. */
  @Override
  public Map<String, String> fingerprint() {
    Map<String, String> entries = new LinkedHashMap<>();
    entries.put("model", config.fingerprint());
    if (config.expertKind() != ExpertKind.IDENTITY) {
      entries.put("kernel", bank.kernel().name());
    }
    return entries;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SyntheticModel m
        && config.equals(m.config)
        && bank.kernel().name().equals(m.bank.kernel().name());
  }

  @Override
  public int hashCode() {
    return config.hashCode();
  }

  @Override
  public String toString() {
    return "SyntheticModel{" + config + "}";
  }
}
