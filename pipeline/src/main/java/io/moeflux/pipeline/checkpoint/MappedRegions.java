package io.moeflux.pipeline.checkpoint;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import org.jspecify.annotations.Nullable;

/**
 * Releases a file mapping as soon as its bytes are copied out. Java 17 unmaps a {@link
 * MappedByteBuffer} only when it is garbage collected, so a rank that copies expert after expert
 * out of a large checkpoint would keep every touched page resident until some later GC; unmapping
 * at once keeps its resident memory to the weights it holds. {@code sun.misc.Unsafe.invokeCleaner}
 * (module jdk.unsupported) is the one way to do that before the foreign-memory API; without it the
 * mapping is left to the GC, which is correct, only later.
 */
final class MappedRegions {
  private static final @Nullable MethodHandle INVOKE_CLEANER = findInvokeCleaner();

  private MappedRegions() {}

  private static @Nullable MethodHandle findInvokeCleaner() {
    try {
      Class<?> unsafeClass = Class.forName("sun.misc.Unsafe");
      Field theUnsafe = unsafeClass.getDeclaredField("theUnsafe");
      theUnsafe.setAccessible(true);
      Object unsafe = theUnsafe.get(null);
      return MethodHandles.lookup()
          .findVirtual(
              unsafeClass, "invokeCleaner", MethodType.methodType(void.class, ByteBuffer.class))
          .bindTo(unsafe);
    } catch (ReflectiveOperationException | RuntimeException e) {
      return null;
    }
  }

  /** Unmaps {@code region}; it must not be read afterwards. */
  static void release(MappedByteBuffer region) {
    MethodHandle cleaner = INVOKE_CLEANER;
    if (cleaner == null) {
      return;
    }
    try {
      cleaner.invokeExact((ByteBuffer) region);
    } catch (Error e) {
      throw e;
    } catch (Throwable e) {
      // A mapping that cannot be unmapped now is unmapped by the GC later: nothing is lost.
    }
  }
}
