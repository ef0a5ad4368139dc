//! The notifier service. Not built yet: see ARCHITECTURE.md and the open issues.
