//! The home-renderer service. Not built yet: see ARCHITECTURE.md and the open issues.
