/**
 * The one attribute vocabulary: what a member can say the model lost in a translation. The bot's
 * report menu, the rebalancing report and the dataset tools all import it from here, so an attribute
 * is added in exactly one place. Ids are stored in the database; never rename one, add a new id instead.
 * The first three are the seed project's documented failures (gender flipped, glasses lost, hands lost).
 */
export const ATTRIBUTES = [
  { id: 'gender', label: 'Gender', emoji: '⚧️' },
  { id: 'glasses', label: 'Glasses', emoji: '👓' },
  { id: 'hands', label: 'Hands', emoji: '✋' },
  { id: 'hair', label: 'Hair', emoji: '💇' },
  { id: 'age', label: 'Age', emoji: '🎂' },
  { id: 'skin_tone', label: 'Skin tone', emoji: '🎨' },
  { id: 'facial_hair', label: 'Facial hair', emoji: '🧔' },
  { id: 'accessories', label: 'Accessories', emoji: '💍' },
  { id: 'expression', label: 'Expression', emoji: '😐' },
  { id: 'pose', label: 'Pose', emoji: '🔄' },
  { id: 'background', label: 'Background', emoji: '🖼️' },
  { id: 'identity', label: 'Identity', emoji: '🪪' },
  { id: 'other', label: 'Other', emoji: '❓' },
] as const satisfies readonly { id: string; label: string; emoji: string }[];

/** One attribute of the vocabulary. */
export type Attribute = (typeof ATTRIBUTES)[number];

/** The id of an attribute, e.g. `'glasses'`. */
export type AttributeId = Attribute['id'];

/** Every attribute id, in menu order. */
export const ATTRIBUTE_IDS: readonly AttributeId[] = ATTRIBUTES.map((a) => a.id);

const byId = new Map<string, Attribute>(ATTRIBUTES.map((a) => [a.id, a]));

/** True when `value` is the id of an attribute in the vocabulary. */
export function isAttributeId(value: unknown): value is AttributeId {
  return typeof value === 'string' && byId.has(value);
}

/**
 * The attribute with id `id`.
 * @throws {RangeError} when `id` is not in the vocabulary (callers holding user input check
 *   {@link isAttributeId} first, or use the feedback service, which throws a typed error).
 */
export function attributeById(id: AttributeId): Attribute {
  const found = byId.get(id);
  if (!found) throw new RangeError(`attribute: expected one of ${ATTRIBUTE_IDS.join(', ')}, received ${JSON.stringify(id)}`);
  return found;
}
