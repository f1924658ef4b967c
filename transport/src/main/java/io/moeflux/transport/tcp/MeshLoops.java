package io.moeflux.transport.tcp;

import reactor.netty.resources.LoopResources;

/**
 * The event loops every TCP mesh of this JVM shares. Reactor Netty's default is at least four
 * loops; on the small machines ranks run on, more loops than cores only add thread hand-offs to
 * each frame's path. The count is the number of cores, at most 4, unless the system property {@code
 * moeflux.io.threads} says otherwise.
 */
final class MeshLoops {
  private static final LoopResources SHARED =
      LoopResources.create(
          "moeflux-io",
          Integer.getInteger(
              "moeflux.io.threads", Math.min(4, Runtime.getRuntime().availableProcessors())),
          true);

  private MeshLoops() {}

  static LoopResources shared() {
    return SHARED;
  }
}
