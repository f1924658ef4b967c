package io.moeflux.pipeline.layer;

import io.moeflux.pipeline.PipelineException;
import io.moeflux.transport.DirectMemory;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * A frame of the data path that could not be allocated: the direct-memory limit is reached. The
 * runner gives the step up on every rank with this reason ({@code RankMesh.abort}), instead of
 * letting peers wait for a frame that never comes.
 */
final class OutOfDirectMemory extends PipelineException {
  private static final long serialVersionUID = 1L;

  private OutOfDirectMemory(String message, Throwable cause) {
    super(message, cause);
  }

  /**
   * Allocates a frame through {@code allocation}, or throws this exception naming {@code what}, the
   * rank and step, and the memory figures.
   */
  static ByteBuf allocate(Allocation allocation, ByteBufAllocator allocator, String what) {
    try {
      return allocation.allocate(allocator);
    } catch (OutOfMemoryError e) {
      throw new OutOfDirectMemory(
          what
              + " could not be allocated: "
              + e
              + " (direct memory in use "
              + DirectMemory.used()
              + " of "
              + DirectMemory.limit()
              + " bytes)",
          e);
    }
  }

  /** One frame allocation. */
  @FunctionalInterface
  interface Allocation {
    ByteBuf allocate(ByteBufAllocator allocator);
  }
}
