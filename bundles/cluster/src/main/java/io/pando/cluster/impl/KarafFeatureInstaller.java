package io.pando.cluster.impl;

import org.apache.karaf.features.Feature;
import org.apache.karaf.features.FeaturesService;

/** Desired features installed through Karaf's {@link FeaturesService}. */
final class KarafFeatureInstaller implements FeatureInstaller {

    private final FeaturesService features;

    KarafFeatureInstaller(FeaturesService features) {
        this.features = features;
    }

    @Override
    public boolean exists(String feature) throws Exception {
        return find(feature).length > 0;
    }

    @Override
    public boolean isInstalled(String feature) throws Exception {
        for (Feature f : find(feature)) {
            if (features.isRequired(f) && features.isInstalled(f)) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void install(String feature) throws Exception {
        String[] nv = split(feature);
        if (nv[1] == null) {
            features.installFeature(nv[0]);
        } else {
            features.installFeature(nv[0], nv[1]);
        }
    }

    @Override
    public void uninstall(String feature) throws Exception {
        String[] nv = split(feature);
        if (nv[1] == null) {
            features.uninstallFeature(nv[0]);
        } else {
            features.uninstallFeature(nv[0], nv[1]);
        }
    }

    private Feature[] find(String feature) throws Exception {
        String[] nv = split(feature);
        Feature[] found = nv[1] == null ? features.getFeatures(nv[0]) : features.getFeatures(nv[0], nv[1]);
        return found == null ? new Feature[0] : found;
    }

    /** @return {name, version or null} */
    static String[] split(String feature) {
        int slash = feature.indexOf('/');
        return slash < 0 ? new String[] {feature, null}
            : new String[] {feature.substring(0, slash), feature.substring(slash + 1)};
    }
}
