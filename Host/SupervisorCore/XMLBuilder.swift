/// A small XML element tree that renders with every attribute and text escaped.
///
/// libvirt's domain and snapshot XML is built with it, so names and descriptions chosen by users can never
/// break the document (the original concatenated strings and broke on a quote).
public struct XMLElement: Sendable, Equatable {
    /// The element's tag.
    public var name: String
    /// Attributes in the order they are written.
    public var attributes: [(String, String)]
    /// Child elements, written before ``text``.
    public var children: [XMLElement]
    /// Text content.
    public var text: String?

    /// Creates an element.
    /// - Parameters:
    ///   - name: The tag.
    ///   - attributes: Attributes in order.
    ///   - text: Text content.
    ///   - children: Child elements.
    public init(
        _ name: String, _ attributes: [(String, String)] = [], text: String? = nil, _ children: [XMLElement] = []
    ) {
        self.name = name
        self.attributes = attributes
        self.children = children
        self.text = text
    }

    /// The element as an indented XML document fragment.
    public func render() -> String {
        var out = ""
        write(into: &out, depth: 0)
        return out
    }

    private func write(into out: inout String, depth: Int) {
        let indent = String(repeating: "  ", count: depth)
        out += indent + "<" + name
        for (key, value) in attributes {
            out += " \(key)='\(XMLElement.escape(value))'"
        }
        if children.isEmpty && text == nil {
            out += "/>\n"
            return
        }
        out += ">"
        if let text {
            out += XMLElement.escape(text)
        }
        if !children.isEmpty {
            out += "\n"
            for child in children {
                child.write(into: &out, depth: depth + 1)
            }
            out += indent
        }
        out += "</\(name)>\n"
    }

    /// Escapes the five XML special characters.
    public static func escape(_ string: String) -> String {
        var out = ""
        out.reserveCapacity(string.utf8.count)
        for character in string {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "'": out += "&apos;"
            case "\"": out += "&quot;"
            default: out.append(character)
            }
        }
        return out
    }

    public static func == (lhs: XMLElement, rhs: XMLElement) -> Bool {
        lhs.render() == rhs.render()
    }
}
