"""The form engine: steps, the view, navigation, uploads, matching what people type, validators."""
