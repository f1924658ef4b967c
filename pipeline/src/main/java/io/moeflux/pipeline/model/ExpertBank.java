package io.moeflux.pipeline.model;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.jspecify.annotations.Nullable;

/**
 * Every logical expert's function, created on first use and then cached. Weights are immutable, so
 * several ranks in one JVM share one bank; concurrent first uses may both generate an expert, but
 * generation is deterministic and only one result is ever published.
 */
public final class ExpertBank {
  private final ModelConfig config;
  private final @Nullable ExpertFfn identity;
  private final AtomicReferenceArray<@Nullable ExpertFfn> experts;

  public ExpertBank(ModelConfig c) {
    this.config = Objects.requireNonNull(c, "c");
    this.identity = c.expertKind() == ExpertKind.IDENTITY ? ExpertFfn.identity(c.hidden()) : null;
    this.experts =
        new AtomicReferenceArray<>(
            identity == null ? Math.multiplyExact(c.layers(), c.experts()) : 0);
  }

  public ModelConfig config() {
    return config;
  }

  /** The function of {@code logicalExpert} in {@code layer}. */
  public ExpertFfn expert(int layer, int logicalExpert) {
    Objects.checkIndex(layer, config.layers());
    Objects.checkIndex(logicalExpert, config.experts());
    if (identity != null) {
      return identity;
    }
    int index = layer * config.experts() + logicalExpert;
    ExpertFfn ffn = experts.get(index);
    if (ffn != null) {
      return ffn;
    }
    ExpertFfn created = ExpertFfn.swiglu(ExpertWeights.generate(config, layer, logicalExpert));
    return experts.compareAndSet(index, null, created) ? created : experts.get(index);
  }

  /** The weights of {@code logicalExpert} in {@code layer}; {@code null} for identity experts. */
  public @Nullable ExpertWeights weights(int layer, int logicalExpert) {
    return expert(layer, logicalExpert).weights();
  }

  @Override
  public String toString() {
    return "ExpertBank{" + config.fingerprint() + "}";
  }
}
