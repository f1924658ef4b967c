/**
 * Expert weight migration: which weights move where between two placements, and moving them over
 * the mesh in bounded chunks while decode steps go on.
 */
@NullMarked
package io.moeflux.eplb.migration;

import org.jspecify.annotations.NullMarked;
