package io.moeflux.transport.protocol;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which {@link RowKernel} this JVM runs, chosen once: the vector kernel when the JVM was started
 * with {@code --add-modules jdk.incubator.vector} and its vectors hold at least eight floats, else
 * the scalar one. Both give the same bits, so ranks may differ in this choice.
 */
final class RowKernels {
  private static final Logger LOG = LoggerFactory.getLogger(RowKernels.class);
  private static final String VECTOR_MODULE = "jdk.incubator.vector";
  private static final String VECTOR_KERNEL = "io.moeflux.transport.protocol.VectorRowKernel";
  private static final RowKernel PREFERRED = choose();

  private RowKernels() {}

  /** The fastest kernel this JVM can run; the same instance on every call. */
  static RowKernel preferred() {
    return PREFERRED;
  }

  private static RowKernel choose() {
    if (ModuleLayer.boot().findModule(VECTOR_MODULE).isEmpty()) {
      LOG.debug("row conversions scalar: {} is not enabled", VECTOR_MODULE);
      return ScalarRowKernel.INSTANCE;
    }
    try {
      // loaded by name, so that no class of the Vector API is touched without the module
      RowKernel vector = (RowKernel) Class.forName(VECTOR_KERNEL).getMethod("create").invoke(null);
      if (vector != null) {
        LOG.debug("row conversions {}", vector.name());
        return vector;
      }
      LOG.debug("row conversions scalar: this machine's vectors hold fewer than 8 floats");
    } catch (ReflectiveOperationException | LinkageError e) {
      LOG.warn("the vector row conversions failed to load, running scalar ones: {}", e.toString());
    }
    return ScalarRowKernel.INSTANCE;
  }
}
