// Slack's emoji shortcodes as Unicode: every one Pulse sends, and the common ones people type.
// A shortcode not here is a workspace's custom emoji (an image Slack would fetch): the page
// shows a visible placeholder for it, never the bare text alone.
export const EMOJI = {
  white_check_mark: "\u2705", heavy_check_mark: "\u2714\ufe0f", x: "\u274c", warning: "\u26a0\ufe0f",
  hourglass_flowing_sand: "\u23f3", hourglass: "\u231b", red_circle: "\ud83d\udd34", large_green_circle: "\ud83d\udfe2",
  large_yellow_circle: "\ud83d\udfe1", large_orange_circle: "\ud83d\udfe0", large_blue_circle: "\ud83d\udd35",
  white_circle: "\u26aa", black_circle: "\u26ab", scissors: "\u2702\ufe0f", no_entry: "\u26d4", rocket: "\ud83d\ude80",
  repeat: "\ud83d\udd01", grey_question: "\u2754", question: "\u2753", tada: "\ud83c\udf89", rotating_light: "\ud83d\udea8",
  information_source: "\u2139\ufe0f", boom: "\ud83d\udca5", bar_chart: "\ud83d\udcca", arrow_forward: "\u25b6\ufe0f",
  fire: "\ud83d\udd25", eyes: "\ud83d\udc40", thumbsup: "\ud83d\udc4d", "+1": "\ud83d\udc4d", thumbsdown: "\ud83d\udc4e",
  "-1": "\ud83d\udc4e", wave: "\ud83d\udc4b", bell: "\ud83d\udd14", memo: "\ud83d\udcdd", package: "\ud83d\udce6",
  hammer_and_wrench: "\ud83d\udee0\ufe0f", gear: "\u2699\ufe0f", lock: "\ud83d\udd12", clock1: "\ud83d\udd50",
  stopwatch: "\u23f1\ufe0f", calendar: "\ud83d\udcc5", link: "\ud83d\udd17", bug: "\ud83d\udc1b", zap: "\u26a1",
  sparkles: "\u2728", construction: "\ud83d\udea7", heavy_minus_sign: "\u2796", heavy_plus_sign: "\u2795",
  arrow_right: "\u27a1\ufe0f", arrows_counterclockwise: "\ud83d\udd04", speech_balloon: "\ud83d\udcac",
  mag: "\ud83d\udd0d", pushpin: "\ud83d\udccc", star: "\u2b50", smile: "\ud83d\ude04", slightly_smiling_face: "\ud83d\ude42",
  skull: "\ud83d\udc80", robot_face: "\ud83e\udd16", chart_with_upwards_trend: "\ud83d\udcc8",
  chart_with_downwards_trend: "\ud83d\udcc9", stop_sign: "\ud83d\uded1", green_heart: "\ud83d\udc9a", broken_heart: "\ud83d\udc94",
};

/** The Unicode for `name` (without colons), or undefined for a custom emoji. */
export function emoji(name) {
  return Object.prototype.hasOwnProperty.call(EMOJI, name) ? EMOJI[name] : undefined;
}
