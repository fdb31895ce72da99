/**
 * YAML for YAML 1.1 readers (Go's gopkg.in/yaml.v2 in Warewulf 4.5, PyYAML in Ansible): there `yes`, `on`, `n`
 * are booleans and `52:54:00:00:00:01` is a base-60 integer. Such strings are written double-quoted (MACs
 * always, as Warewulf's docs do) so those readers see the same text as a YAML 1.2 one.
 */
import { Document, isScalar, visit } from 'yaml'

const AMBIGUOUS_WORD = /^(y|n|yes|no|on|off|true|false|null|~)$/i
const COLON_GROUPS = /^[0-9a-f]{1,4}(:[0-9a-f]{1,4})+$/i

export function stringifyForYaml11(value: unknown, comment?: string): string {
  const doc = new Document(value)
  if (comment !== undefined) doc.commentBefore = comment
  visit(doc, {
    Scalar(key, node) {
      if (key === 'key' || !isScalar(node) || typeof node.value !== 'string') return
      if (AMBIGUOUS_WORD.test(node.value) || COLON_GROUPS.test(node.value)) node.type = 'QUOTE_DOUBLE'
    },
  })
  return doc.toString({ lineWidth: 0, indentSeq: true })
}
