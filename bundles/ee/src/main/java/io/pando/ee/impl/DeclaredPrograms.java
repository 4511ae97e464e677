package io.pando.ee.impl;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.xml.sax.SAXException;

/**
 * Reads, from a verified program jar and without loading any of its classes, the program names its Declarative
 * Services components declare: the {@code name} property of each component that provides
 * {@code io.pando.api.program.ActiveProgram}. The store uses them to refuse a name conflict before the bundle is
 * started (so that a conflicting program is never registered, even for a moment); what the started bundle really
 * registers is checked again afterwards.
 */
final class DeclaredPrograms {

    /** The service interface of active programs. */
    static final String ACTIVE_PROGRAM = "io.pando.api.program.ActiveProgram";

    private DeclaredPrograms() {
    }

    /**
     * @param jar a program jar that passed verification
     * @return the declared program names, sorted; empty if none can be read (the check after start still runs)
     */
    static List<String> names(Path jar) {
        Set<String> names = new TreeSet<>();
        try (JarFile zip = new JarFile(jar.toFile(), false)) {
            Manifest m = zip.getManifest();
            String header = m == null ? null : m.getMainAttributes().getValue("Service-Component");
            for (ManifestHeaders.Clause c : ManifestHeaders.parse(header)) {
                for (String pattern : c.names()) {
                    Pattern glob = Pattern.compile(Pattern.quote(pattern).replace("*", "\\E[^/]*\\Q"));
                    for (ZipEntry e : java.util.Collections.list(zip.entries())) {
                        if (!e.isDirectory() && glob.matcher(e.getName()).matches()) {
                            try (InputStream in = zip.getInputStream(e)) {
                                names.addAll(fromXml(in));
                            }
                        }
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            return List.of();
        }
        return new ArrayList<>(names);
    }

    /** @return the names declared by the ActiveProgram components of one DS descriptor; empty if malformed */
    static List<String> fromXml(InputStream xml) {
        List<String> out = new ArrayList<>();
        Document doc;
        try {
            DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
            f.setNamespaceAware(true);
            f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            f.setXIncludeAware(false);
            f.setExpandEntityReferences(false);
            DocumentBuilder b = f.newDocumentBuilder();
            b.setErrorHandler(null);
            doc = b.parse(xml);
        } catch (ParserConfigurationException | SAXException | IOException | RuntimeException e) {
            return out;
        }
        NodeList components = doc.getElementsByTagNameNS("*", "component");
        for (int i = 0; i < components.getLength(); i++) {
            Element c = (Element) components.item(i);
            boolean program = false;
            NodeList provides = c.getElementsByTagNameNS("*", "provide");
            for (int j = 0; j < provides.getLength(); j++) {
                program |= ACTIVE_PROGRAM.equals(((Element) provides.item(j)).getAttribute("interface"));
            }
            if (!program) {
                continue;
            }
            NodeList properties = c.getElementsByTagNameNS("*", "property");
            for (int j = 0; j < properties.getLength(); j++) {
                Element p = (Element) properties.item(j);
                if (!"name".equals(p.getAttribute("name"))) {
                    continue;
                }
                if (p.hasAttribute("value")) {
                    out.add(p.getAttribute("value").strip());
                } else {
                    p.getTextContent().lines().map(String::strip).filter(s -> !s.isEmpty()).forEach(out::add);
                }
            }
        }
        // DS elements without a namespace (DS 1.0 descriptors) are found by the "*" namespace too
        return out;
    }
}
