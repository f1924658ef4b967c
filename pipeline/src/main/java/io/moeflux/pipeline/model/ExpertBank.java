package io.moeflux.pipeline.model;

import io.moeflux.pipeline.kernel.ExpertKernel;
import io.moeflux.pipeline.kernel.ExpertKernels;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.jspecify.annotations.Nullable;

/**
 * Every logical expert's function, created on first use and then cached, computed by one {@link
 * ExpertKernel}. Weights are immutable, so several ranks in one JVM share one bank; concurrent
 * first uses may both generate an expert, but generation is deterministic and only one result is
 * ever published.
 */
public final class ExpertBank {
  private final ModelConfig config;
  private final ExpertKernel kernel;
  private final @Nullable ExpertFfn identity;
  private final AtomicReferenceArray<@Nullable ExpertFfn> experts;

  /** The bank of {@code c} with this JVM's {@link ExpertKernels#preferred() preferred} kernel. */
  public ExpertBank(ModelConfig c) {
    this(c, ExpertKernels.preferred());
  }

  public ExpertBank(ModelConfig c, ExpertKernel kernel) {
    this.config = Objects.requireNonNull(c, "c");
    this.kernel = Objects.requireNonNull(kernel, "kernel");
    this.identity = c.expertKind() == ExpertKind.IDENTITY ? ExpertFfn.identity(c.hidden()) : null;
    this.experts =
        new AtomicReferenceArray<>(
            identity == null ? Math.multiplyExact(c.layers(), c.experts()) : 0);
  }

  public ModelConfig config() {
    return config;
  }

  /** The kernel that computes the SwiGLU experts. */
  public ExpertKernel kernel() {
    return kernel;
  }

  /** A SwiGLU expert of these weights (received in a migration), computed by the bank's kernel. */
  public ExpertFfn expertOf(ExpertWeights weights) {
    return ExpertFfn.swiglu(weights, kernel);
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
    ExpertFfn created = expertOf(ExpertWeights.generate(config, layer, logicalExpert));
    return experts.compareAndSet(index, null, created) ? created : experts.get(index);
  }

  /** The weights of {@code logicalExpert} in {@code layer}; {@code null} for identity experts. */
  public @Nullable ExpertWeights weights(int layer, int logicalExpert) {
    return expert(layer, logicalExpert).weights();
  }

  @Override
  public String toString() {
    return "ExpertBank{" + config.fingerprint() + ", " + kernel.name() + "}";
  }
}
