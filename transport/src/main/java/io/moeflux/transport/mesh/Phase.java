package io.moeflux.transport.mesh;

import io.moeflux.transport.PeerFrames;
import io.netty.buffer.ByteBuf;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.ConcurrentMap;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.MonoSink;

/**
 * One phase's frames in the {@link Inbox} while they arrive, and the receive waiting for them. Its
 * fields are guarded by its own monitor; it leaves the inbox's map when it is taken or dropped, and
 * its frames leave the {@link PeerQuota} with it.
 */
final class Phase {
  final PhaseKey key;
  final long created;
  final @Nullable ByteBuf[] frames;
  private final int[] sizes;
  int arrived;
  boolean claimed;
  boolean done;
  @Nullable MonoSink<PeerFrames> waiter;
  long deadline;
  private final ConcurrentMap<PhaseKey, Phase> home;
  private final PeerQuota quota;

  Phase(
      PhaseKey key,
      int worldSize,
      long created,
      ConcurrentMap<PhaseKey, Phase> home,
      PeerQuota quota) {
    this.key = key;
    this.created = created;
    this.frames = new ByteBuf[worldSize];
    this.sizes = new int[worldSize];
    this.home = home;
    this.quota = quota;
  }

  /** Under the lock: holds {@code frame} from {@code source} and counts it. */
  void put(int source, ByteBuf frame) {
    frames[source] = frame;
    sizes[source] = frame.readableBytes();
    arrived++;
    quota.held(source, key.kind(), sizes[source]);
  }

  /** Under the lock: hands the frames over (they are no longer this phase's) and forgets it. */
  PeerFrames take(int self) {
    done = true;
    home.remove(key, this);
    ByteBuf[] handed = frames.clone();
    forget(false);
    return new PeerFrames(self, handed);
  }

  /** Under the lock: releases whatever is still held and forgets the phase. */
  void drop() {
    done = true;
    waiter = null;
    home.remove(key, this);
    forget(true);
  }

  private void forget(boolean release) {
    for (int i = 0; i < frames.length; i++) {
      ByteBuf frame = frames[i];
      if (frame != null) {
        if (release) {
          ReferenceCountUtil.safeRelease(frame);
        }
        frames[i] = null;
        quota.released(i, key.kind(), sizes[i]);
      }
    }
  }
}
