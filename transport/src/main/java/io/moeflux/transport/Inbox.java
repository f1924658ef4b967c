package io.moeflux.transport;

import io.netty.buffer.ByteBuf;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoSink;

/**
 * Frames that arrived, grouped by phase until one frame from every peer is there. A receive
 * completes on the thread that delivered the last frame, or at once if it came late. Every frame is
 * released exactly once: handed to the receiver inside {@link PeerFrames}, or released here on
 * cancel, failure or close.
 */
final class Inbox {
  private final int self;
  private final int worldSize;
  private final long timeoutNanos;
  private final Consumer<MeshException> onProtocolError;
  private final ConcurrentHashMap<PhaseKey, Phase> phases = new ConcurrentHashMap<>();
  private volatile MeshException failure;
  private final String[] departed;

  private final class Phase {
    final PhaseKey key;
    final ByteBuf[] frames = new ByteBuf[worldSize];
    int arrived;
    boolean claimed;
    boolean done;
    MonoSink<PeerFrames> waiter;
    long deadline;

    Phase(PhaseKey key) {
      this.key = key;
    }

    /** Under the phase's lock: hands the frames over and forgets the phase. */
    PeerFrames take() {
      done = true;
      phases.remove(key, this);
      return new PeerFrames(self, frames);
    }

    /** Under the phase's lock: releases whatever is held. */
    void drop() {
      done = true;
      waiter = null;
      phases.remove(key, this);
      for (int i = 0; i < frames.length; i++) {
        if (frames[i] != null) {
          ReferenceCountUtil.safeRelease(frames[i]);
          frames[i] = null;
        }
      }
    }
  }

  Inbox(int self, int worldSize, long timeoutNanos, Consumer<MeshException> onProtocolError) {
    this.self = self;
    this.worldSize = worldSize;
    this.timeoutNanos = timeoutNanos;
    this.onProtocolError = onProtocolError;
    this.departed = new String[worldSize];
  }

  /** A peer left the mesh: every frame it sent has arrived, and no more will come. */
  void departed(int peer, String description) {
    departed[peer] = description;
  }

  /** Takes ownership of {@code frame}, which came from {@code source}. */
  void deliver(int source, ByteBuf frame) {
    if (failure != null) {
      frame.release();
      return;
    }
    PhaseKey key =
        new PhaseKey(FrameCodec.kind(frame), FrameCodec.step(frame), FrameCodec.layer(frame));
    Phase phase = phases.computeIfAbsent(key, Phase::new);
    MonoSink<PeerFrames> waiter = null;
    PeerFrames complete = null;
    boolean duplicate = false;
    boolean stale = false;
    synchronized (phase) {
      if (phase.done) {
        stale = true;
      } else if (phase.frames[source] != null) {
        duplicate = true;
      } else {
        phase.frames[source] = frame;
        phase.arrived++;
        if (phase.arrived == worldSize - 1 && phase.waiter != null) {
          waiter = phase.waiter;
          complete = phase.take();
        }
      }
    }
    if (stale) {
      // the phase was given up (cancelled or failed) while this frame was on its way
      frame.release();
      return;
    }
    if (duplicate) {
      frame.release();
      onProtocolError.accept(
          new MeshException(
              "rank " + self + ": rank " + source + " sent a second frame for " + key));
      return;
    }
    if (waiter != null) {
      waiter.success(complete);
    }
  }

  Mono<PeerFrames> receive(PhaseKey key) {
    if (worldSize == 1) {
      return Mono.fromSupplier(() -> new PeerFrames(self, new ByteBuf[1]));
    }
    return Mono.<PeerFrames>create(
            sink -> {
              MeshException failed = failure;
              if (failed != null) {
                sink.error(failed);
                return;
              }
              Phase phase = phases.computeIfAbsent(key, Phase::new);
              PeerFrames ready = null;
              String error = null;
              synchronized (phase) {
                if (phase.claimed || phase.done) {
                  error = "rank " + self + ": " + key + " was asked for twice";
                } else {
                  phase.claimed = true;
                  if (phase.arrived == worldSize - 1) {
                    ready = phase.take();
                  } else {
                    phase.waiter = sink;
                    phase.deadline = System.nanoTime() + timeoutNanos;
                  }
                }
              }
              if (error != null) {
                sink.error(new MeshException(error));
                return;
              }
              if (ready != null) {
                sink.success(ready);
                return;
              }
              sink.onCancel(
                  () -> {
                    synchronized (phase) {
                      if (!phase.done) {
                        phase.drop();
                      }
                    }
                  });
              failed = failure;
              if (failed != null) {
                failWaiter(phase, failed);
              }
            })
        // frames completed into a receive that was cancelled meanwhile are released, not lost
        .doOnDiscard(PeerFrames.class, PeerFrames::release);
  }

  /**
   * Fails phases whose receive waited longer than the phase timeout, or that wait for a peer that
   * has left.
   */
  void sweep(long now) {
    for (Phase phase : phases.values()) {
      String missing = null;
      synchronized (phase) {
        if (phase.waiter != null && !phase.done) {
          for (int r = 0; r < worldSize; r++) {
            if (r != self && phase.frames[r] == null && departed[r] != null) {
              missing =
                  "rank "
                      + self
                      + ": "
                      + departed[r]
                      + " left the mesh while "
                      + phase.key
                      + " still waits for its frame";
            }
          }
        }
        if (missing == null && phase.waiter != null && !phase.done && now - phase.deadline > 0) {
          List<Integer> absent = new ArrayList<>();
          for (int r = 0; r < worldSize; r++) {
            if (r != self && phase.frames[r] == null) {
              absent.add(r);
            }
          }
          missing =
              "rank "
                  + self
                  + ": "
                  + phase.key
                  + " timed out after "
                  + timeoutNanos / 1_000_000
                  + " ms waiting for the frames of rank(s) "
                  + absent;
        }
      }
      if (missing != null) {
        onProtocolError.accept(new MeshException(missing));
        return;
      }
    }
  }

  /** Fails every pending and later receive and releases every held frame. */
  void fail(MeshException error) {
    if (failure == null) {
      failure = error;
    }
    for (Phase phase : phases.values()) {
      failWaiter(phase, failure);
    }
  }

  private void failWaiter(Phase phase, MeshException error) {
    MonoSink<PeerFrames> waiter;
    synchronized (phase) {
      waiter = phase.waiter;
      phase.drop();
    }
    if (waiter != null) {
      waiter.error(error);
    }
  }

  boolean failed() {
    return failure != null;
  }
}
