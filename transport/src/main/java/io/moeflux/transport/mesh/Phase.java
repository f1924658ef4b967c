package io.moeflux.transport.mesh;

import io.moeflux.transport.PeerFrames;
import io.netty.buffer.ByteBuf;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.ConcurrentMap;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.MonoSink;

/**
 * One phase's frames in the {@link Inbox} while they arrive, and the receive waiting for them. Its
 * fields are guarded by its own monitor; it leaves the inbox's map when it is taken or dropped.
 */
final class Phase {
  final PhaseKey key;
  final @Nullable ByteBuf[] frames;
  int arrived;
  boolean claimed;
  boolean done;
  @Nullable MonoSink<PeerFrames> waiter;
  long deadline;
  private final ConcurrentMap<PhaseKey, Phase> home;

  Phase(PhaseKey key, int worldSize, ConcurrentMap<PhaseKey, Phase> home) {
    this.key = key;
    this.frames = new ByteBuf[worldSize];
    this.home = home;
  }

  /** Under the lock: hands the frames over and forgets the phase. */
  PeerFrames take(int self) {
    done = true;
    home.remove(key, this);
    return new PeerFrames(self, frames);
  }

  /** Under the lock: releases whatever is held and forgets the phase. */
  void drop() {
    done = true;
    waiter = null;
    home.remove(key, this);
    for (int i = 0; i < frames.length; i++) {
      ByteBuf frame = frames[i];
      if (frame != null) {
        ReferenceCountUtil.safeRelease(frame);
        frames[i] = null;
      }
    }
  }
}
