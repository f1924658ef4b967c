package io.moeflux.pipeline.kernel;

import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which {@link ExpertKernel} this JVM runs: the vector kernel when the JVM was started with {@code
 * --add-modules jdk.incubator.vector} (the module is not resolved otherwise, and {@code java -jar}
 * cannot ask for it), else the scalar fallback. Logged once, on first use.
 */
public final class ExpertKernels {
  /** The incubator module the vector kernel needs. */
  public static final String VECTOR_MODULE = "jdk.incubator.vector";

  private static final Logger LOG = LoggerFactory.getLogger(ExpertKernels.class);
  private static final String VECTOR_KERNEL = "io.moeflux.pipeline.kernel.VectorExpertKernel";

  private ExpertKernels() {}

  /** The fastest kernel this JVM can run; the same instance on every call. */
  public static ExpertKernel preferred() {
    return Preferred.KERNEL;
  }

  /**
   * The vector kernel, when {@value #VECTOR_MODULE} is enabled and the machine's vectors hold at
   * least four floats. Its class is loaded by name, so that no class of the Vector API is touched
   * without the module.
   */
  public static Optional<ExpertKernel> vector() {
    return Vector.KERNEL;
  }

  /** Whether the JVM was started with {@value #VECTOR_MODULE}. */
  public static boolean vectorModuleEnabled() {
    return ModuleLayer.boot().findModule(VECTOR_MODULE).isPresent();
  }

  private static final class Vector {
    static final Optional<ExpertKernel> KERNEL = load();

    private static Optional<ExpertKernel> load() {
      if (!vectorModuleEnabled()) {
        return Optional.empty();
      }
      try {
        Object kernel = Class.forName(VECTOR_KERNEL).getMethod("create").invoke(null);
        return Optional.ofNullable((ExpertKernel) kernel);
      } catch (ReflectiveOperationException | LinkageError e) {
        LOG.warn("the vector kernel failed to load, running the scalar kernel: {}", e.toString());
        return Optional.empty();
      }
    }
  }

  private static final class Preferred {
    static final ExpertKernel KERNEL = choose();

    private static ExpertKernel choose() {
      Optional<ExpertKernel> vector = vector();
      if (vector.isPresent()) {
        LOG.info("expert kernel {} (the JDK Vector API, {})", vector.get().name(), VECTOR_MODULE);
        return vector.get();
      }
      ExpertKernel scalar = ScalarExpertKernel.INSTANCE;
      if (vectorModuleEnabled()) {
        LOG.warn(
            "expert kernel {}: this machine's vectors hold fewer than 4 floats", scalar.name());
      } else {
        LOG.warn(
            "expert kernel {}, several times slower than the vector kernel: start java with"
                + " --add-modules {} to use it",
            scalar.name(),
            VECTOR_MODULE);
      }
      return scalar;
    }
  }
}
