package io.pando.cluster.impl;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A node's feature manager in memory, standing in for Karaf's FeaturesService in the reconciler's tests: knows some
 * features, installs them instantly, and fails the ones it is told to fail.
 */
final class InMemoryFeatures implements FeatureInstaller {

    final Set<String> known = ConcurrentHashMap.newKeySet();
    final Set<String> installed = ConcurrentHashMap.newKeySet();
    final Set<String> failing = ConcurrentHashMap.newKeySet();

    InMemoryFeatures(String... known) {
        this.known.addAll(Set.of(known));
    }

    @Override
    public boolean exists(String feature) {
        return known.contains(feature);
    }

    @Override
    public boolean isInstalled(String feature) {
        return installed.contains(feature);
    }

    @Override
    public void install(String feature) throws Exception {
        if (!known.contains(feature)) {
            throw new Exception("No matching features for " + feature);
        }
        if (failing.contains(feature)) {
            throw new Exception("Unable to resolve root: missing requirement [" + feature + "]");
        }
        installed.add(feature);
    }

    @Override
    public void uninstall(String feature) throws Exception {
        if (!installed.remove(feature)) {
            throw new Exception("Feature named '" + feature + "' is not installed");
        }
    }
}
