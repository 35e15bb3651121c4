// florence2-kmp: one Kotlin Multiplatform library with an Android target and a desktop JVM
// target, both compiled from the same UniFFI-generated Kotlin as bindings/android.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
    // Same versions as bindings/android.
    versionCatalogs {
        create("libs") {
            from(files("../android/gradle/libs.versions.toml"))
        }
    }
}

rootProject.name = "florence2-kmp"
