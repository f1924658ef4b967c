package io.moeflux.transport;

/** How ranks reach each other. */
public enum TransportKind {
  /** RSocket over TCP (Reactor Netty): the default, across processes and hosts. */
  TCP,
  /** RSocket over an in-JVM connection: ranks of one process, for fast tests. */
  LOCAL
}
