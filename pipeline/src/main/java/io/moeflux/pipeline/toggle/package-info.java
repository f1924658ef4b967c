/**
 * Run-time switches decided from the step id alone ({@link io.moeflux.pipeline.toggle.StepToggle}),
 * so that every rank of a group switches at the same step without an extra round trip.
 */
@NullMarked
package io.moeflux.pipeline.toggle;

import org.jspecify.annotations.NullMarked;
