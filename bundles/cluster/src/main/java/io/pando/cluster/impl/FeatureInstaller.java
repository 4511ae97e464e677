package io.pando.cluster.impl;

/**
 * What the {@link FeatureReconciler} needs of a node's feature manager: Karaf's {@code FeaturesService} in a
 * running node ({@link KarafFeatureInstaller}), an in-memory one in the reconciler's unit tests. A feature is named
 * {@code NAME} or {@code NAME/VERSION}.
 */
interface FeatureInstaller {

    /** @return true if a repository of this node defines the feature */
    boolean exists(String feature) throws Exception;

    /** @return true if the feature is installed on this node as asked for (not only as another's dependency) */
    boolean isInstalled(String feature) throws Exception;

    /** Installs the feature; returns when it is installed. */
    void install(String feature) throws Exception;

    /** Uninstalls the feature; returns when it is uninstalled. */
    void uninstall(String feature) throws Exception;
}
